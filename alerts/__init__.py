"""Alerting: detectors, rules, incidents, routing, delivery channels and message templates.

So far this package holds the validated configuration of rules, receivers and routes
(:mod:`alerts.config`) and the secret references channels use (:mod:`alerts.secrets`).
"""
