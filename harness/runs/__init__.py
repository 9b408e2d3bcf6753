"""A run: the scheduler, the checks' runner, expectations, TF versions and their virtualenvs, release checks."""
