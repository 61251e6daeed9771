"""Imports of the national files into the directory: communes (INSEE), establishments
(FINESS) and health professionals (Annuaire Santé, RPPS/ADELI), in this order, each run by
its management command (`import_communes`, `import_finess`, `import_rpps`)."""
