from sweep.cli import main

if __name__ == "__main__":  # guarded: worker processes are spawned from this module
    main()
