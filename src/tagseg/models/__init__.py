"""Networks: FCN-32s/8s (sun2018's baselines); later the classifier, generator and DIS."""
