# The voc scale's raw data (config: downloads; helpers in common.smk). Each archive is fetched from
# its ordered URL list into <data_dir>/archives/, md5-verified, and extracted once into <data_dir>;
# the extraction's marker, written last, is what later rules depend on. An archive placed in
# archives/ by hand is verified by the extraction and never fetched; downloads.voc_root points at
# a VOCdevkit the user already has, and then VOC2012 is neither fetched nor extracted.


rule download_archive:
    output:
        f"{DOWNLOAD_DIR}/archives/{{filename}}",
    wildcard_constraints:
        filename=get_archive_filenames_pattern(),
    log:
        "logs/downloads/{filename}.log",
    params:
        md5=get_archive_md5_by_filename,
        urls=get_archive_url_flags,  # not a rerun trigger (common.smk)
    localrule: True  # cluster nodes often have no internet; the submit host does
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.data.download {params.urls} --md5 {params.md5} --out {output} > {log} 2>&1"


rule extract_archive:
    input:
        get_archive_file,
    output:
        get_archive_marker("{name}"),
    wildcard_constraints:
        name="|".join(TAR_ARCHIVES),
    log:
        "logs/downloads/extract_{name}.log",
    benchmark:
        "benchmarks/downloads/extract_{name}.tsv"
    params:
        md5=get_archive_md5,
        into=get_output_parent,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.data.extract --archive {input} --into {params.into} --marker {output} --md5 {params.md5}"
        " > {log} 2>&1"


rule download_seg11valid:
    output:
        get_seg11valid(),
    log:
        "logs/downloads/seg11valid.log",
    params:
        md5=ARCHIVES["seg11valid"]["md5"],
        urls=get_seg11valid_url_flags,  # not a rerun trigger (common.smk)
        placed=f"{DOWNLOAD_DIR}/archives/{ARCHIVES['seg11valid']['filename']}",
    localrule: True
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.data.download {params.urls} --md5 {params.md5} --placed {params.placed:q} --out {output}"
        " > {log} 2>&1"
