"""Emulators of PrestaShop and Oracle for tests, demos and trials.

Only the CLI, the benchmarks and the tests import this package; the product's clients never do.
"""
