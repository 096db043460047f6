// A shared object that is not a muster plugin: it lacks the entry symbol.
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 42; }
