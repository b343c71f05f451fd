"""The MLflow-compatible tracking REST API (what the unmodified `mlflow` client calls).

Served under /api/2.0/mlflow/ (and /ajax-api/2.0/mlflow/), with the artifact
proxy under /api/2.0/mlflow-artifacts/. Every write goes through
tracker.services and every run filter through tracker.query's AST, so MLflow
clients and Targetline's own API see one and the same data.
"""
