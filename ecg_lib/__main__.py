from ecg_lib.cli import main

raise SystemExit(main())
