"""Small apps using authgate in other frameworks; the README shows them and tests run them."""
