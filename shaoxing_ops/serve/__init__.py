"""The production set behind an authenticating proxy (Dagster OSS has no log-in): nginx with basic auth from
htpasswd files, a writable webserver for operators and a ``--read-only`` one for viewers, and the daemon.
``shaoxing-ops serve`` runs it; ``shaoxing-ops serve user add`` manages who may log in."""
