"""Text read off the structure of tensors: index notation, matrix form, LaTeX.

A new renderer goes here; it reads terms and their name templates
(:mod:`tensordiff.core.templates`), never the numbers.
"""
