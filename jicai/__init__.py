"""Jicai — full-process management of volume-based procurement (集采全流程管理)."""
