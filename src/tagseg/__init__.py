"""tagseg: reproduction pipeline for sun2018 (image-level to pixel-wise labeling) and luo2017 (DIS)."""

__version__ = "0.1.0"
