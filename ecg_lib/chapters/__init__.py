"""What the book's pages show: one module per chapter (plots, explorers, tables, generated sentences),
plus :mod:`ecg_lib.chapters.common`, the helpers every chapter shares.

The split: ``ecg_lib.experiments.<chapter>`` computes and returns results (no matplotlib, no widgets);
``ecg_lib.chapters.<chapter>`` turns results into what a page displays; the notebook calls both and
defines no functions of its own.
"""
