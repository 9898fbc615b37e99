"""What every deploy check prints and counts: `ok   what` or `FAIL what` with its detail indented.
The scripts import it from their own folder; the process exits 1 when `failures` is not empty."""

failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        if detail:
            print("\n".join("     " + line for line in str(detail).splitlines()))
        failures.append(what)
    return ok
