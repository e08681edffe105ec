"""Datasets in the PASCAL VOC layout: the synthetic generator, the reader and its cache, transforms."""
