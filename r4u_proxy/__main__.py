from r4u_proxy.cli import main

if __name__ == "__main__":  # spawned child processes import this module too
    main()
