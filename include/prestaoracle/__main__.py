from prestaoracle.cli import main

raise SystemExit(main())
