"""sun2018, *Image-level to Pixel-wise Labeling: From Theory to Practice* (IJCAI 2018).

Eq. (1)-(2) and Table 3's addition in :mod:`.fusion`; the FCNs in :mod:`.fcn`; the generator and
discriminator in :mod:`.auxiliary`; the variants in :mod:`.variants`; the network and the
three-step iteration of Section 2.3 in :mod:`.network`; the image-labelling network in
:mod:`.classifier`; Section 3 in :mod:`.information`; Figure 4's sweep in :mod:`.tau_sweep`;
the commands :mod:`.train_fcn`, :mod:`.train_classifier`, :mod:`.evaluate_fcn`, :mod:`.export`.
"""
