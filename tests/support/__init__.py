"""What the tests share: tiny models, suites, a `bench` subprocess, stored runs, a PostgreSQL server, bad inputs."""
