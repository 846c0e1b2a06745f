"""Survey answers as Kringloop keeps them: scores, categories and anonymity."""
