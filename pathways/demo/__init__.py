"""The demo territory generator (see `manage.py seed_demo`)."""

from pathways.demo.accounts import DEMO_ACCOUNTS
from pathways.demo.generator import DemoAlreadySeeded, seed_demo

__all__ = ["DEMO_ACCOUNTS", "DemoAlreadySeeded", "seed_demo"]
