from django.contrib.sessions.middleware import SessionMiddleware


class MySessionMiddleware(SessionMiddleware):
    """A host site's subclass: the sessions check must accept it."""
