/* main.c - popgated entry point (placeholder until the master lands in this commit series). */
int main(void);
int main(void) { return 0; }
