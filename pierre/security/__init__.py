"""Security monitoring and response: events, detection rules, actions, alerts, MFA.

Kept import-light: the config schema imports :mod:`pierre.security.config`.
"""
