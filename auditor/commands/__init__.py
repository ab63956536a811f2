"""Commands that live in their own module; each is registered with one line at the end of auditor/cli.py."""
