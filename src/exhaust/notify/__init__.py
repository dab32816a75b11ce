"""Notifications: the mail a requester gets when their report job ends (PRD, SPEC §4.3)."""
