"""Code the tests share (workspace builders, stand-ins).

Test modules import these and never one another; fixtures live in conftest.py.
"""
