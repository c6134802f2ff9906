from mapdb.cli import main

main(prog_name="mapdb")
