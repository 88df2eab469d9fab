from pulse_backfill.cli import main

main()
