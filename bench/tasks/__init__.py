"""Task data: the reply-ranking tasks, their files, readers and tokenisation."""
