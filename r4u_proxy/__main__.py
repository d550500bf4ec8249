from r4u_proxy.cli import main

main()
