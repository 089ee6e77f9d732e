//! Offline operations and their merge: the sync engine shared by phones and server (to be written).
