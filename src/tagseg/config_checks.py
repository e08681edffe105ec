"""The config checks that need more than one key (the schema checks one value at a time); plain
Python, read by the workflow before any job. It knows both papers' keys, so it lives above the core."""

from __future__ import annotations

from pathlib import Path

from tagseg.core.config import ConfigError
from tagseg.sun2018.variants import tau_grid


def check_folder(folder: dict) -> None:
    """The folder section of a ``data.source: folder`` config (tagseg.data.folder reads the folder itself)."""
    if not folder.get("path"):
        raise ConfigError("config key 'folder.path': data.source folder reads a dataset folder; name it "
                          "(configs/folder.yaml shows the keys)")  # fmt: skip
    if abs(sum(folder["split_fractions"]) - 1) > 1e-6:
        raise ConfigError(f"config key 'folder.split_fractions': {folder['split_fractions']} sum to "
                          f"{sum(folder['split_fractions']):g}; the train, val and test shares must sum to 1")  # fmt: skip
    if folder["withhold"] and folder["weak_clean"]:
        raise ConfigError("config keys 'folder.withhold', 'folder.weak_clean': both make the clean-tag weak pool; "
                          "give one of them")  # fmt: skip


def check_combinations(config: dict) -> None:
    """Refuse, naming the keys, a config whose values are each allowed but do not go together
    (the schema checks one value at a time); the config is one :func:`prepare_config` has filled in."""
    synthetic, data = config["synthetic"], config["data"]
    for key in ("idw", "voc12_test_tar"):
        if data["source"] != "voc" and data[key]:
            raise ConfigError(f"config keys 'data.{key}', 'data.source': {key} is read only from VOC data (source voc), "
                              f"not from source {data['source']}; remove it or set data.source: voc")  # fmt: skip
    if data["source"] == "folder":
        check_folder(config["folder"])
    elif config["folder"].get("path"):
        raise ConfigError(f"config keys 'folder.path', 'data.source': a dataset folder is read only with source folder, "
                          f"not {data['source']}; set data.source: folder, or remove the folder section")  # fmt: skip
    if config["data"]["source"] == "synthetic":
        for low, high in (("min_objects", "max_objects"), ("noisy_test_min_objects", "noisy_test_max_objects")):
            if synthetic[low] > synthetic[high]:
                raise ConfigError(f"config keys 'synthetic.{low}', 'synthetic.{high}': {synthetic[low]} > {synthetic[high]}; "
                                  f"the least number of objects an image has may not exceed the most")  # fmt: skip
    for section in ("train", "classifier", "dis"):
        low, high = config[section]["scale_range"]
        if low > high:
            raise ConfigError(f"config key '{section}.scale_range': [{low:g}, {high:g}] runs from high to low; "
                              f"write the smaller factor first")  # fmt: skip
    if sum(config["dis"]["stage1_steps"]) < 1:
        raise ConfigError("config key 'dis.stage1_steps': [0, 0, 0] trains stage 1 for no iteration; give at least one "
                          "of its three steps a count")  # fmt: skip
    tau, taus = config["sun2018"]["tau"], config["sun2018"]["taus"]
    grid = tau_grid(taus)
    if min(abs(tau - t) for t in grid) > 1e-9:
        nearest = min(grid, key=lambda t: abs(tau - t))
        raise ConfigError(f"config keys 'sun2018.tau', 'sun2018.taus': tau {tau:g} is not one of the {taus} thresholds "
                          f"the sweep scores (0 to 1 in steps of {1 / (taus - 1):g}; the nearest is {nearest:g}); "
                          f"choose one of them, or a taus whose grid holds it")  # fmt: skip
    voc_root = config["downloads"]["voc_root"]
    if config["data"]["source"] == "voc" and voc_root:
        root = Path(voc_root)
        if not (root / "VOCdevkit" / "VOC2012").is_dir():
            hint = next((f"; did you mean {parent}?" for parent in (root.parent, root.parent.parent)
                         if (parent / "VOCdevkit" / "VOC2012").is_dir()), "")  # fmt: skip
            raise ConfigError(f"config key 'downloads.voc_root': {root} holds no VOCdevkit/VOC2012; it must be "
                              f"the folder that holds VOCdevkit{hint}")  # fmt: skip
