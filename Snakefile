# tagseg: reproduces sun2018 and luo2017 from raw data. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/voc_data.smk"
include: "workflow/rules/fcn.smk"
include: "workflow/rules/classifier.smk"
include: "workflow/rules/dis.smk"
include: "workflow/rules/tables.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
