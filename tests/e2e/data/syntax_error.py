# A module that does not compile, for the end-to-end test of exit status 2.
def broken(input_data):
    return (input_data
