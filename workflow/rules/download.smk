# The voc scale's raw data (config: downloads; helpers in common.smk). Each file is fetched from its
# ordered URL list into <data_dir>/archives/ and md5-verified; the tar archives are then extracted
# once into <data_dir>, and seg11valid.txt is read where it is. A file placed in archives/ by hand
# is verified and never fetched. The download's declared output is the file's checksum record
# (<file>.md5), not the file: snakemake deletes a job's outputs before running it again (after an
# md5 is changed, say), and the file may be the user's own copy. downloads.voc_root points at a
# VOCdevkit the user already has, and then VOC2012 is neither fetched nor extracted.


rule download_archive:
    output:
        f"{DOWNLOAD_DIR}/archives/{{filename}}.md5",
    log:
        "logs/downloads/{filename}.log",
    wildcard_constraints:
        filename=get_archive_filenames_pattern(),
    localrule: True  # cluster nodes often have no internet; the submit host does
    conda:
        "../../envs/tagseg.yaml"
    params:
        md5=get_archive_md5_by_filename,
        urls=get_archive_url_flags,  # not a rerun trigger (common.smk)
        file=get_downloaded_file,
    shell:
        "python -m tagseg.data.download {params.urls} --md5 {params.md5} --out {params.file:q} --record {output:q}"
        " > {log:q} 2>&1"


rule extract_archive:
    input:
        get_archive_record,
    output:
        get_archive_marker("{name}"),
    log:
        "logs/downloads/extract_{name}.log",
    benchmark:
        "benchmarks/downloads/extract_{name}.tsv"
    wildcard_constraints:
        name="|".join(TAR_ARCHIVES),
    conda:
        "../../envs/tagseg.yaml"
    params:
        md5=get_archive_md5,
        archive=get_archive_file,
        into=get_output_parent,
    shell:
        "python -m tagseg.data.extract --archive {params.archive:q} --into {params.into:q} --marker {output:q}"
        " --md5 {params.md5} > {log:q} 2>&1"


# The ImageNet weights the config's models start from (model.pretrained, dis.pretrained), fetched once on
# the submit host into the workflow's own TORCH_HOME (<downloads.data_dir>/torch), where the training jobs
# read them; copied from the user's torch hub cache (~/.cache/torch/hub) where they are already there.
if needed_weights(config):

    rule fetch_weights:
        output:
            f"{TORCH_HOME}/hub/checkpoints/{{filename}}",
        log:
            "logs/downloads/weights_{filename}.log",
        wildcard_constraints:
            filename="|".join(re.escape(filename) for _, _, filename in needed_weights(config)),
        localrule: True  # cluster nodes often have no internet; the submit host does
        conda:
            "../../envs/tagseg.yaml"
        params:
            torch_home=TORCH_HOME,
            weights=lambda wildcards: next(
                f"{enum}.{member}"
                for enum, member, filename in needed_weights(config)
                if filename == wildcards.filename
            ),
        shell:
            "TORCH_HOME={params.torch_home:q} python -m tagseg.core.pretrained fetch {params.weights} > {log:q} 2>&1"
