"""(being written)"""


def match_new_lot(lot) -> int:
    return 0
