from evodiag.cli import main

main()
