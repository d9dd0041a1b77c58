from llmu.cli import main

raise SystemExit(main())
