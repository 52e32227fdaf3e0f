#include "cli/commands.h"

int main(int argc, char** argv) { return sigv4::cli::run(argc, argv); }
