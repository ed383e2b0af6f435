from sharpdyn.cli import main

main()
