from hhp_letters.cli import main

main()
