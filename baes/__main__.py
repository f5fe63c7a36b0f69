from baes.cli.app import main

main()
