"""From result files to what a reader sees: the papers' numbers, the tables, the figures (one
module per paper), the claims and their statistics, the README's generated sections.

The modules the workflow parses with (:mod:`.papers`) import neither torch nor numpy.
"""
