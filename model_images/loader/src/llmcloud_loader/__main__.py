from llmcloud_loader.cli import main

raise SystemExit(main())
