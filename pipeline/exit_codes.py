"""Process exit codes of every ``yuqing`` command (documented in the README for cron users)."""

OK = 0
FAILURE = 1  # the command ran but failed (e.g. nothing valid to ingest, database unreachable)
USAGE = 2  # bad command-line arguments (click's own code)
CONFIG = 3  # the configuration file is invalid or a secret is missing
LOCKED = 4  # another process is running the same job; nothing was done
PARTIAL = 5  # the job ran but part of it failed (e.g. some deliveries are failing)
