from vts.cli import main

raise SystemExit(main())
