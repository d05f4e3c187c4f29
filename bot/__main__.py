"""`python -m bot` is `model-review`."""

from bot.cli import main

raise SystemExit(main())
