from pierre.cli import main

raise SystemExit(main())
