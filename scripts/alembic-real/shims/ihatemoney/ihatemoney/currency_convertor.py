"""Only the constant a revision uses as a server default."""


class CurrencyConverter:
    no_currency = "XXX"
