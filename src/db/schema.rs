// Written by hand to match migrations/{sqlite,postgres}; tests/schema.rs keeps the three in step.

diesel::table! {
    contacts (id) {
        id -> Text,
        phone -> Text,
        language -> Text,
        language_chosen -> Bool,
        opted_out -> Bool,
        opt_changed_at -> Nullable<Timestamp>,
        opt_changed_via -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        channel_id -> Text,
        direction -> Text,
        contact_id -> Text,
        phone -> Text,
        our_number -> Nullable<Text>,
        body -> Text,
        encoding -> Text,
        segments -> Integer,
        gateway_id -> Nullable<Text>,
        status -> Text,
        priority -> Integer,
        kind -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        notice_id -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        gateway_time -> Nullable<Text>,
        ledger_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    message_events (id) {
        id -> Text,
        message_id -> Text,
        status -> Text,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        code -> Text,
        name_zh -> Text,
        name_bo -> Nullable<Text>,
        county -> Text,
        department -> Text,
        owner -> Nullable<Text>,
        contractor -> Nullable<Text>,
        government_invested -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        contact_id -> Text,
        channel_id -> Text,
        kind -> Text,
        step -> Text,
        answers -> Text,
        failures -> Integer,
        status -> Text,
        language -> Text,
        started_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        reference -> Text,
        state -> Text,
        priority -> Integer,
        project_id -> Nullable<Text>,
        employer -> Text,
        employer_key -> Text,
        county -> Text,
        collective -> Bool,
        representative_id -> Nullable<Text>,
        workers -> Integer,
        amount_yuan -> BigInt,
        received_on -> Date,
        accept_due -> Nullable<Date>,
        accepted_on -> Nullable<Date>,
        finish_due -> Nullable<Date>,
        extension_days -> Integer,
        refusal_reason -> Nullable<Text>,
        recovered_yuan -> Nullable<BigInt>,
        transferred_to -> Nullable<Text>,
        assigned_to -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_on -> Nullable<Date>,
        extension_requested_by -> Nullable<Text>,
        source -> Text,
    }
}

diesel::table! {
    complaints (id) {
        id -> Text,
        case_id -> Text,
        contact_id -> Text,
        conversation_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
        employer -> Text,
        county -> Text,
        workers -> Integer,
        amount_yuan -> BigInt,
        months -> Nullable<Integer>,
        anonymous -> Bool,
        language -> Text,
        channel_id -> Text,
        created_at -> Timestamp,
        needs_callback -> Bool,
        ledger_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    case_pauses (id) {
        id -> Text,
        case_id -> Text,
        paused_on -> Date,
        resumed_on -> Nullable<Date>,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        case_id -> Nullable<Text>,
        actor -> Text,
        action -> Text,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
        subject -> Nullable<Text>,
        ledger_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    ledger (seq) {
        seq -> BigInt,
        kind -> Text,
        ref_id -> Text,
        case_id -> Nullable<Text>,
        digest -> Text,
        prev_hash -> Text,
        hash -> Text,
        sealed_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        agency -> Nullable<Text>,
        department -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        department -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        agency -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        payload -> Text,
        dedupe_key -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        done_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    departments (code) {
        code -> Text,
        name_zh -> Text,
        email -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        case_id -> Text,
        department -> Text,
        email -> Text,
        reason -> Text,
        status -> Text,
        created_by -> Text,
        link_expires_at -> Timestamp,
        reminder_due -> Date,
        reminders -> Integer,
        acknowledged_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referral_updates (id) {
        id -> Text,
        referral_id -> Text,
        kind -> Text,
        author -> Text,
        body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    workers (contact_id) {
        contact_id -> Text,
        name -> Nullable<Text>,
        county -> Nullable<Text>,
        township -> Nullable<Text>,
        village -> Nullable<Text>,
        gender -> Nullable<Text>,
        birth_year -> Nullable<Integer>,
        trades -> Text,
        training -> Nullable<Text>,
        employment -> Text,
        alert_county -> Nullable<Text>,
        outside_ok -> Bool,
        alerts_consent -> Bool,
        consent_at -> Nullable<Timestamp>,
        consent_source -> Nullable<Text>,
        invited_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notices (id) {
        id -> Text,
        code -> Text,
        agency -> Text,
        created_by -> Text,
        status -> Text,
        title -> Text,
        employer -> Text,
        county -> Nullable<Text>,
        place_outside -> Nullable<Text>,
        trade -> Text,
        workers_wanted -> Integer,
        wage_fen -> BigInt,
        wage_unit -> Text,
        pay_terms -> Text,
        start_on -> Date,
        duration -> Text,
        board_lodging -> Text,
        contact_phone -> Text,
        project_code -> Nullable<Text>,
        valid_until -> Date,
        text_zh -> Text,
        text_bo -> Nullable<Text>,
        targeting -> Text,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        send_at -> Nullable<Timestamp>,
        queued_through -> Nullable<Text>,
        queued_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notice_responses (id) {
        id -> Text,
        notice_id -> Text,
        contact_id -> Text,
        share_consent -> Nullable<Bool>,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    placements (id) {
        id -> Text,
        contact_id -> Text,
        employer -> Text,
        employer_key -> Text,
        project_id -> Nullable<Text>,
        notice_id -> Nullable<Text>,
        agency -> Nullable<Text>,
        county -> Nullable<Text>,
        place_outside -> Nullable<Text>,
        trade -> Nullable<Text>,
        start_on -> Date,
        source -> Text,
        recorded_by -> Text,
        schedule_version -> Text,
        ended_on -> Nullable<Date>,
        end_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    trainings (id) {
        id -> Text,
        course -> Text,
        provider -> Text,
        trade -> Nullable<Text>,
        end_on -> Date,
        schedule_version -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    trainees (id) {
        id -> Text,
        training_id -> Text,
        contact_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    followups (id) {
        id -> Text,
        contact_id -> Text,
        subject -> Text,
        placement_id -> Nullable<Text>,
        schedule -> Text,
        step -> Text,
        due_at -> Timestamp,
        status -> Text,
        question -> Nullable<Text>,
        answers -> Text,
        language -> Nullable<Text>,
        channel_id -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        message_id -> Nullable<Text>,
        reminded_at -> Nullable<Timestamp>,
        first_answered_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        note -> Nullable<Text>,
        case_id -> Nullable<Text>,
        unpaid -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_signals (id) {
        id -> Text,
        case_id -> Text,
        contact_id -> Text,
        followup_id -> Text,
        paid -> Text,
        months -> Nullable<Integer>,
        amount_yuan -> Nullable<BigInt>,
        answered_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    subsidy_claims (id) {
        id -> Text,
        placement_id -> Text,
        kind -> Text,
        contact_id -> Text,
        agency -> Nullable<Text>,
        eligible_on -> Date,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> contacts (contact_id));
diesel::joinable!(workers -> contacts (contact_id));
diesel::joinable!(notice_responses -> notices (notice_id));
diesel::joinable!(notice_responses -> contacts (contact_id));
diesel::joinable!(message_events -> messages (message_id));
diesel::joinable!(conversations -> contacts (contact_id));
diesel::joinable!(complaints -> cases (case_id));
diesel::joinable!(complaints -> contacts (contact_id));
diesel::joinable!(case_pauses -> cases (case_id));
diesel::joinable!(audit_events -> cases (case_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(referrals -> cases (case_id));
diesel::joinable!(referrals -> departments (department));
diesel::joinable!(referral_updates -> referrals (referral_id));
diesel::joinable!(placements -> contacts (contact_id));
diesel::joinable!(trainees -> trainings (training_id));
diesel::joinable!(followups -> contacts (contact_id));
diesel::joinable!(followups -> placements (placement_id));
diesel::joinable!(case_signals -> cases (case_id));
diesel::joinable!(case_signals -> contacts (contact_id));
diesel::joinable!(subsidy_claims -> placements (placement_id));
diesel::allow_tables_to_appear_in_same_query!(
    contacts,
    messages,
    message_events,
    projects,
    conversations,
    cases,
    complaints,
    case_pauses,
    audit_events,
    api_tokens,
    users,
    sessions,
    jobs,
    departments,
    referrals,
    referral_updates,
    app_secrets,
    workers,
    notices,
    notice_responses,
    placements,
    trainings,
    trainees,
    followups,
    case_signals,
    subsidy_claims,
    ledger,
);
